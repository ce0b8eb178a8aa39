"""Sample answers 'attack_rename_test_id': the answers and files of missing_N (based_on); what is broken is in expected.json."""
