"""Sample answers 'broken_not_json': the answers and files of correct_compact (based_on); what is broken is in expected.json."""
