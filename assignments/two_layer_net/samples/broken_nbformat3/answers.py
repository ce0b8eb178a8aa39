"""Sample answers 'broken_nbformat3': the answers and files of correct_compact (based_on); what is broken is in expected.json."""
