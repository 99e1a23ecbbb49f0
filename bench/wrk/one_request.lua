-- One awsJson call sent over and over (the replay workload): X-Amz-Target
-- from BENCH_TARGET, the body from BENCH_BODY.
wrk.method = "POST"
wrk.path = "/"
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Target"] = os.getenv("BENCH_TARGET")
wrk.body = os.getenv("BENCH_BODY")
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
