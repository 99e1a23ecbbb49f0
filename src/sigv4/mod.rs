//! SigV4: the only code that sees credentials. (Being written.)
