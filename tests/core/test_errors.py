from studio.core.errors import one_line


def test_one_line_folds_white_space_and_never_says_nothing():
    assert one_line(OSError("disk\n  full\t(28)")) == "disk full (28)"
    assert one_line("  two\nlines ") == "two lines"
    assert one_line(KeyError()) == "KeyError"
    assert one_line("") == ""
