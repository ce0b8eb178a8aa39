"""Sample answers 'broken_extra_files': the answers and files of correct_compact (based_on); what is broken is in expected.json."""
