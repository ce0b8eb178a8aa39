"""Sample answers 'blank': A blank notebook: every answer cell is still the stub.
"""
# Every answer cell was left as its stub (raise NotImplementedError()).
