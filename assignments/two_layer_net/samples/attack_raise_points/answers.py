"""Sample answers 'attack_raise_points': the answers and files of missing_N (based_on); what is broken is in expected.json."""
