from outrider.cli.main import main

raise SystemExit(main())
