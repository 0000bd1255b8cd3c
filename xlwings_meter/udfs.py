"""The worksheet functions Excel finds by this module's name.

The template's VBA wrapper calls ``Py.CallUDF("xlwings_meter.udfs", ...)``, so this path is part
of every workbook already in users' hands; the function itself lives in
:mod:`xlwings_meter.excel.meterread`.
"""

from xlwings_meter.excel.meterread import METERREAD

__all__ = ["METERREAD"]
