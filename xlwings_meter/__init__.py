"""xlwings-meter: read water-meter photos into a spreadsheet, paying once per photo."""

__version__ = "0.1.0"
