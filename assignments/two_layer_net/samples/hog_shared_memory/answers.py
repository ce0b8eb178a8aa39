"""Sample answers 'hog_shared_memory': correct_compact's answers; the memory hog is a
cell the student added (expected.json, notebook_edits)."""
