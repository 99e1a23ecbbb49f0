-- The mock workload, a suite's traffic in miniature. Out of every ten calls:
-- four GetEnvironmentTemplate, two ListEnvironmentTemplates, and two
-- CreateEnvironmentTemplateVersion calls each followed by its retry with the
-- same clientToken (an SDK retrying after a lost answer). Tokens come from a
-- pool of 64 per thread, so the mock ends up holding what a test suite
-- leaves behind (a hundred-odd versions), not one version per request; once
-- a token has been used, later calls with it are retries too. The template
-- BENCH_TEMPLATE must exist before the run.
local template = os.getenv("BENCH_TEMPLATE")
local prefix = "AwsProton20200720."
local headers = { ["Content-Type"] = "application/x-amz-json-1.0" }
local counter = 0
-- thread_id is set per thread by setup().
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

local function call(operation, body)
  headers["X-Amz-Target"] = prefix .. operation
  return wrk.format("POST", "/", headers, body)
end

local function token(n)
  return string.format("%08x-0000-4000-8000-%012x", thread_id, n)
end

function request()
  counter = counter + 1
  local slot = counter % 10
  if slot < 4 then
    return call("GetEnvironmentTemplate", '{"name":"' .. template .. '"}')
  elseif slot < 6 then
    return call("ListEnvironmentTemplates", '{}')
  else
    -- slots 6,7 share one token, 8,9 another: a call and its retry.
    local n = math.floor(counter / 2) % 64
    return call("CreateEnvironmentTemplateVersion", string.format(
      '{"clientToken":"%s","source":{"s3":{"bucket":"bench-templates","key":"env.tar.gz"}},"templateName":"%s"}',
      token(n), template))
  end
end

dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
