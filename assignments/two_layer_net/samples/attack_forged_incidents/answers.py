"""Sample answers 'attack_forged_incidents': correct_compact's answers; the forged record is
notebook metadata (expected.json, notebook_edits)."""
