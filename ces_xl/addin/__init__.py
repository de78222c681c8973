"""Build and install the CES Excel add-in (``ces_xl.xlam``): a "CES" ribbon tab, plus the UDFs.

How it is made
--------------
The add-in is not a committed binary. :func:`build_addin` starts from the ribbon add-in template
of the *installed* xlwings (``xlwings/quickstart_addin_ribbon.xlam``, the very file
``xlwings quickstart NAME --addin --ribbon`` copies) and edits it at ZIP level:

* ``customUI/customUI.xml`` is rewritten: a ``CES`` tab, an "Engagement score" group and one
  large "Score workbook" button. Its ``onAction`` is the template's own VBA callback,
  ``RibbonMyAddin.RunMain(control As IRibbonControl)``, which runs::

      Sub RunMain(control As IRibbonControl)
          mymodule = Left(ThisWorkbook.Name, (InStrRev(ThisWorkbook.Name, ".", -1, vbTextCompare) - 1))
          RunPython "import " & mymodule & ";" & mymodule & ".main()"
      End Sub

  i.e. it builds the Python module name from the add-in's *file name*. That is why the file
  must be called ``ces_xl.xlam``: the button then runs ``import ces_xl;ces_xl.main()``. (A
  renamed copy, e.g. ``ces_xl (1).xlam``, would import a module that does not exist.) The
  build checks that callback in the template's VBA and refuses to build if xlwings changed it.
  The template's XML namespace (``.../office/2006/01/customui``) and its ``_rels/.rels``
  relationship are kept exactly as xlwings ships them.
* ``xl/vbaProject.bin`` gets one more standard module, ``xlwings_udfs``, with the VBA wrappers
  for ``=CES_SCORE(...)`` and ``=CES_BAND(...)``, so they work without "Import Functions".
  The wrapper text comes from xlwings' own ``xlwings.udfs.generate_vba_wrapper`` (the code
  "Import Functions" runs inside Excel), with the header ``import_udfs`` writes; the module is
  added with pyOpenVBA, which also invalidates the compiled-code cache so Excel recompiles
  the project from source on first open. (xlwings' "Import Functions" replaces a module of
  the same name, so re-importing later is harmless.) What this cannot do outside Excel is
  ``Application.MacroOptions``: the function wizard shows the functions under "User Defined"
  without the per-argument help that "Import Functions" adds.
* Optionally (``config=``) the template's hidden settings sheet ``_myaddin.conf`` is renamed to
  ``myaddin.conf``, which activates it, and text settings such as ``Interpreter_Win`` are
  filled in. :func:`install_addin` uses this to pin the Python that runs ``ces-xl``, as
  ``xlwings config create`` does for the xlwings add-in; without it the add-in would run
  whatever ``python`` is first on Excel's PATH (or ``%USERPROFILE%\\.myaddin\\myaddin.conf``).
  A plain :func:`build_addin` leaves the sheet untouched, so the file is portable.

Every other part of the package is copied byte for byte (same order, same compression).

Why ZIP level, and why from the installed xlwings
-------------------------------------------------
* openpyxl refuses ``.xlam`` files, and a macro workbook saved through it loses the ribbon's
  relationship, so the add-in is never opened by a spreadsheet library.
* The template's ``xlwings`` VBA module hard-codes the DLL of its own version
  (``xlwings64-<version>.dll``) and refuses to talk to a different Python package version
  (xlwings issues #1595, #2263). Building from the installed package's template makes the
  add-in match the xlwings that runs ``ces_xl``, always; rebuild after upgrading xlwings.

:func:`install_addin` hands the built file to ``xlwings addin install --file``, which copies it
into Excel's XLSTART folder. That only makes sense where desktop Excel runs (Windows, macOS).
"""
from __future__ import annotations

from .build import ADDIN_NAME, build_addin, template_path
from .install import install_addin
from .vba import udf_vba

__all__ = ["ADDIN_NAME", "build_addin", "install_addin", "template_path", "udf_vba"]
