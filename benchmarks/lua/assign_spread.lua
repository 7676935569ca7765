-- Assign a job to a project, then unassign it, over (project, job) pairs that
-- the suite prepared. Each connection goes round its own pairs, so an
-- unassignment always follows its assignment and no two connections meet.
local common = require("common")

local mine, position, assigning

common.install({
  init = function()
    mine = common.slice(data.pairs)
    position, assigning = 1, true
  end,
  request = function()
    local project, job = mine[position][1], mine[position][2]
    if assigning then
      local body = '{"jobId": "' .. job .. '"}'
      return wrk.format("POST", "/v1/projects/" .. project .. "/jobs", json_headers, body)
    end
    return wrk.format("DELETE", "/v1/projects/" .. project .. "/jobs/" .. job, read_headers)
  end,
  advance = function()
    if not assigning then
      position = position % #mine + 1
    end
    assigning = not assigning
  end,
})
