from django.core.management import call_command


def test_openapi_schema_validates_without_warnings(tmp_path, capsys):
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    assert out.stat().st_size > 1000
