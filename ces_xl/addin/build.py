"""Build ``ces_xl.xlam`` from the installed xlwings' ribbon template (see :mod:`ces_xl.addin`): the
ribbon rewritten, the UDF wrappers added to the VBA project, optionally the settings sheet
activated, and every other part of the package copied exactly, through the same package layer
(:mod:`ces_xl.xlsx.package`) the workbook writer uses."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ..errors import FileError, InputError, SetupError
from ..xlsx.atomic import atomic_output
from ..xlsx.package import Package, PackageCopy
from .config import activate_config
from .vba import ADDIN_NAME, ON_ACTION, REINSTALL_FIX, edit_vba

TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
UI_REL_TYPES = (  # the 2007 type is what xlwings' template uses; the 2006 type exists in the wild
    "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
    "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
)
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"

_SUPERTIP = ("Scores every customer on the Activity sheet of the active workbook with the weights "
             "on its Weights tab (and the Bands and Settings sheets when present), then writes the "
             "results to Scores and Summary sheets. The input sheets are not changed.")


def _custom_ui(namespace: str) -> str:
    """The ribbon: tab ``CES``, group "Engagement score", one large "Score workbook" button."""
    return (
        f'<customUI xmlns={quoteattr(namespace)}>\n'
        '    <ribbon>\n'
        '        <tabs>\n'
        '            <tab id="CesTab" label="CES">\n'
        '                <group id="CesGroup" label="Engagement score">\n'
        '                    <button id="CesScoreWorkbook" label="Score workbook" size="large"'
        ' imageMso="AutoSum" screentip="Score workbook"'
        f' supertip={quoteattr(_SUPERTIP)}'
        f' onAction={quoteattr(ON_ACTION)} />\n'
        '                </group>\n'
        '            </tab>\n'
        '        </tabs>\n'
        '    </ribbon>\n'
        '</customUI>\n'
    )


def template_path() -> Path:
    """The installed xlwings' ribbon add-in template (what ``quickstart --addin --ribbon`` copies)."""
    try:
        import xlwings
    except ImportError as exc:  # pragma: no cover - xlwings is a dependency
        raise SetupError("xlwings is not installed", where="ces_xl.addin", fix="pip install xlwings") from exc
    return Path(xlwings.__file__).parent / TEMPLATE_NAME


def build_addin(outdir: str | Path, *, udfs: bool = True, config: Mapping[str, str] | None = None) -> Path:
    """Write ``outdir/ces_xl.xlam`` from the installed xlwings' ribbon template; return its path.

    ``udfs``: add the ``=CES_SCORE``/``=CES_BAND`` VBA wrappers (module ``xlwings_udfs``).
    ``config``: text settings for the add-in's config sheet, keyed as in its column A
    (``Interpreter_Win``, ``Interpreter_Mac``, ``PYTHONPATH``, ``Conda Path``, ``Conda Env``,
    ``UDF Modules``; case-insensitive). Given, the sheet is activated; omitted, it is left as
    xlwings ships it (inactive) and the file is portable between machines.

    The file appears atomically (written beside it, then renamed); ``outdir`` is created if
    needed. Raises :class:`~ces_xl.errors.CESError` if the template is missing or not as
    expected, or ``outdir`` cannot be written.
    """
    template = template_path()
    if not template.is_file():
        raise SetupError("xlwings' ribbon add-in template is missing", where=str(template), fix=REINSTALL_FIX)
    try:
        package = Package(template)
    except (InputError, OSError) as exc:
        raise SetupError(f"xlwings' ribbon add-in template cannot be read ({exc})", where=str(template),
                         fix=REINSTALL_FIX) from None
    with package:
        edits: dict[str, bytes] = {}
        ui_part = _part(package, "", UI_REL_TYPES, "ribbon (customUI)")
        edits[ui_part] = _custom_ui(_root_namespace(package, ui_part)).encode("utf-8")
        vba_part = _part(package, package.main_part(), (VBA_REL,), "VBA project")
        new_vba = edit_vba(template.read_bytes(), template, vba_part, udfs=udfs)
        if new_vba is not None:
            edits[vba_part] = new_vba
        if config:
            edits.update(activate_config(package, config))
        return _write(Path(outdir), package, edits)


def _part(package: Package, source: str, types: tuple[str, ...], what: str) -> str:
    for rel in package.relationships(source):
        if rel.type in types and rel.target in package.names:
            return rel.target
    raise SetupError(f"xlwings' ribbon template has no {what} part", where=str(package.path), fix=REINSTALL_FIX)


def _root_namespace(package: Package, part: str) -> str:
    tag = package.xml(part).tag
    if not tag.startswith("{") or not tag.endswith("}customUI"):
        raise SetupError(f"unexpected ribbon XML in {part} ({tag})", where=str(package.path), fix=REINSTALL_FIX)
    return tag[1:].split("}", 1)[0]


def _write(outdir: Path, package: Package, edits: Mapping[str, bytes]) -> Path:
    """The template with ``edits``, every other part copied exactly, in the same order."""
    target = outdir / ADDIN_NAME
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileError(f"cannot write the add-in there ({exc.strerror or exc})", where=str(outdir),
                        fix="choose a folder you can write to") from None
    try:
        with atomic_output(target) as tmp, PackageCopy(tmp, package) as out:
            for info in package.infos:
                if info.filename in edits:
                    out.write(info.filename, edits[info.filename], like=info)
                else:
                    out.copy_raw(info)
    except FileError as exc:
        raise FileError(f"cannot write the add-in there ({exc.problem})", where=str(outdir),
                        fix="choose a folder you can write to") from None
    except OSError as exc:
        raise FileError(f"cannot write the add-in ({exc.strerror or exc})", where=str(target),
                        fix="check the folder's permissions and free space, and close the file in Excel") from None
    return target
