from journey_metrics.cli import main

main()
