"""The ribbon's entry points under the name the template's VBA calls them by.

``RunPython "import xlwings_meter.ribbon as r; r.read_meters()"`` is written into every workbook
already in users' hands; the code lives in :mod:`xlwings_meter.excel.ribbon`.
"""

from xlwings_meter.excel.ribbon import read_meters, reread_selection, show_settings

__all__ = ["read_meters", "reread_selection", "show_settings"]
