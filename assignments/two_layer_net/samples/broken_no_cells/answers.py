"""Sample answers 'broken_no_cells': the answers and files of correct_compact (based_on); what is broken is in expected.json."""
