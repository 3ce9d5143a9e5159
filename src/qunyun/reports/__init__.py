"""The weekly report (《社群运营数据周报》) and the charts shared by the report and the dashboard."""
