"""Sample answers 'broken_misnamed_notebook': the answers and files of correct_compact (based_on); what is broken is in expected.json."""
