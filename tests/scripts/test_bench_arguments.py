"""A benchmark's command line refuses a bad argument with a usage error naming it (exit 2), before any Spark
session starts."""

from __future__ import annotations

import pytest

from bench import transform


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--scales", "x"], ("--scales", "'x'")),
        (["--scales", "1,0"], ("--scales", "1 or more")),
        (["--master", "yarn"], ("--master", "spark://host:port")),
        (["--executor-memory", "lots"], ("--executor-memory", "1536m")),
    ],
)
def test_bad_arguments_are_usage_errors_that_name_the_argument(argv, names, capsys):
    with pytest.raises(SystemExit) as exited:
        transform.main(argv)
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert all(name in error for name in names), error


def test_good_arguments_parse_to_the_sizes_and_master_asked():
    assert transform.scales_arg("4,1,2,2") == [1, 2, 4]
    assert transform.master_arg("spark://127.0.0.1:7077") == "spark://127.0.0.1:7077"
    assert transform.master_arg("local[*]") == "local[*]"
    assert transform.memory_arg("1536m") == "1536m"
