"""Sample answers 'attack_delete_tests': the answers and files of missing_N (based_on); what is broken is in expected.json."""
