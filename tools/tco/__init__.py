"""`make tco`: the monthly cost of calling Bedrock's API against hosting an open-weights model on SageMaker.

inputs (usecases/<id>/scale.yaml) -> prices (offline snapshot in tools/prices/, or --refresh) -> capacity (instances
for the peak) -> options (monthly cost per option) -> breakeven (where the API and hosting curves cross) -> charts and
report (reports/<usecase>/tco.md). Pure functions of plain data except the --refresh read and the files written.
"""
