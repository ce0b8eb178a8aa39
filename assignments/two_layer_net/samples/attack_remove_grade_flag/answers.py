"""Sample answers 'attack_remove_grade_flag': the answers and files of missing_N (based_on); what is broken is in expected.json."""
