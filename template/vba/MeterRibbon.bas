Attribute VB_Name = "MeterRibbon"
Option Explicit
' Callbacks of the Meter ribbon tab (customUI/customUI.xml names them as MeterRibbon.<Sub>).
' Each hands over to Python through RunPython, from the xlwings add-in (see Tools > References).

Sub ReadMeters(control As IRibbonControl)
    RunPython "import xlwings_meter.ribbon as r; r.read_meters()"
End Sub

Sub RereadSelection(control As IRibbonControl)
    RunPython "import xlwings_meter.ribbon as r; r.reread_selection()"
End Sub

Sub ShowSettings(control As IRibbonControl)
    RunPython "import xlwings_meter.ribbon as r; r.show_settings()"
End Sub
