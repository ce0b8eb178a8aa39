"""Sample answers 'attack_added_cell': missing_N's wrong loss; the tampering sits in a cell the
student added after the answers (not in an answer cell): it makes every comparison in the kernel
succeed and swaps the hidden-test loader. The grader scores outside the kernel, and the static
scan reads added cells too.
"""
