"""Sample answers 'attack_neuter_hidden_test': the answers and files of missing_N (based_on); what is broken is in expected.json."""
