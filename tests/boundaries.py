"""The import-linter contract of app boundaries, configured in pyproject.toml.

An app is reached from outside only through its front doors: `services`, `selectors` or its
one documented `public` module. The project's wiring (URL confs, websocket routing, the
ASGI and WSGI entry points) may also mount an app's `urls`, `api_urls` and `routing`.
Models are private like the rest (a ForeignKey names another app's model by string), except
the modules listed as shared, such as the user model every app refers to.
"""

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class AppBoundaryContract(Contract):
    """Each app imports another app's front doors only.

    Options:
        apps: the apps, as dotted package names.
        front_doors: module names (the part after the app) anyone may import.
        wiring: modules of the project that mount apps.
        wiring_doors: module names the wiring may import besides the front doors.
        shared: whole modules anyone may import (the user model).
    """

    type_name = "app_boundaries"

    apps = fields.ListField(subfield=fields.StringField())
    front_doors = fields.ListField(subfield=fields.StringField())
    wiring = fields.ListField(subfield=fields.StringField(), required=False)
    wiring_doors = fields.ListField(subfield=fields.StringField(), required=False)
    shared = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        apps = sorted(self.apps, key=len, reverse=True)  # the innermost app owns a module
        wiring = set(self.wiring or [])
        shared = set(self.shared or [])
        broken = []
        for importer in sorted(graph.modules):
            importer_app = _owner(importer, apps)
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                imported_app = _owner(imported, apps)
                if imported_app in (None, importer_app) or imported in shared:
                    continue
                doors = set(self.front_doors)
                if _owner(importer, sorted(wiring, key=len, reverse=True)) is not None:
                    doors |= set(self.wiring_doors or [])
                rest = imported.removeprefix(imported_app).lstrip(".")
                if rest.split(".")[0] in doors and rest:
                    continue
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    broken.append((importer, imported, detail["line_number"]))
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, imported, line in check.metadata["broken"]:
            output.print_error(f"{importer} -> {imported} (l. {line})", bold=False)
        output.new_line()
        output.print("Import the other app's services, selectors or public module instead.")


def _owner(module: str, packages: list[str]) -> str | None:
    for package in packages:
        if module == package or module.startswith(package + "."):
            return package
    return None
