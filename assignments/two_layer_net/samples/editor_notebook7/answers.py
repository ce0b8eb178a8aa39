"""Sample answers 'editor_notebook7': the answers and files of correct_compact (based_on); what the editor did is in expected.json."""
