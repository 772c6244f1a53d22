from scheduler_svc.main import main

if __name__ == "__main__":
    main()
