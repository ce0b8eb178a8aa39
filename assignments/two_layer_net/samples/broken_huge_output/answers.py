"""Sample answers 'broken_huge_output': the answers and files of correct_compact (based_on); what is broken is in expected.json."""
