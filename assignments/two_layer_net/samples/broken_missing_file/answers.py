"""Sample answers 'broken_missing_file': the answers and files of model_missing (based_on); what is broken is in expected.json."""
