"""Sample answers 'hog_disk_flood': correct_compact's answers; the flood is a cell the
student added (expected.json, notebook_edits)."""
