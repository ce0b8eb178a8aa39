"""Sample answers 'attack_split_test': the answers and files of missing_N (based_on); what is broken is in expected.json."""
