"""Sample answers 'editor_kaggle': the answers and files of correct_compact (based_on); what the editor did is in expected.json."""
