"""Sample answers 'broken_copied_test_cell': the answers and files of missing_N (based_on); what is broken is in expected.json."""
