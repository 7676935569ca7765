-- POST /v1/projects: each request creates a project with a name of its own.
local common = require("common")

local created = 0

common.install({
  request = function()
    local body = string.format('{"name": "Bench project %d-%d"}', thread_number, created)
    return wrk.format("POST", "/v1/projects", json_headers, body)
  end,
  advance = function()
    created = created + 1
  end,
})
