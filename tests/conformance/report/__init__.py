"""Tests of conformance.report: the matrix, Allure and defect reports."""
