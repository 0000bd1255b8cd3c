"""Builds workbook_template.xlsm from readable sources; see template/build.py."""
