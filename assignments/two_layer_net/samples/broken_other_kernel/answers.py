"""Sample answers 'broken_other_kernel': the answers and files of correct_compact (based_on); what is broken is in expected.json."""
