"""Sample answers 'broken_duplicate_cell_ids': the answers and files of correct_compact (based_on); what is broken is in expected.json."""
