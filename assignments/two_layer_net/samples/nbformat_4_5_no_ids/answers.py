"""Sample answers 'nbformat_4_5_no_ids': the answers and files of correct_compact (based_on); what the editor did is in expected.json."""
