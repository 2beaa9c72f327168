/**
 * An objective's spending as one total and its parts. The engine charges an objective
 * (its record's `spent`: tokens and USD) for its roles' model calls — story, scope,
 * planner, evaluator: `agent-usage` events of the objective, scope `role` — and for its
 * agents' `agent-usage`. The views show that one total, split into `planning` (roles)
 * and `agents`, so the parts visibly add up to it.
 */
import { type Amount, amountOf, type Usage } from './agentsteps';

/** An objective's spending: `planning` (its roles) + `agents` = `total`. */
export interface Spending {
  total: Amount;
  planning: Amount;
  agents: Amount;
}

/** An objective record's `spent` (`cost_usd` as `cost`). */
export interface Spent {
  tokens: number;
  cost: number;
}

function plus(a: Amount, b: Amount): Amount {
  return { tokens: a.tokens + b.tokens, cost: a.cost + b.cost, unpriced: a.unpriced + b.unpriced };
}

function minus(a: Amount, b: Amount): Amount {
  const left = (x: number, y: number) => Math.max(0, x - y);
  return { tokens: left(a.tokens, b.tokens), cost: left(a.cost, b.cost), unpriced: left(a.unpriced, b.unpriced) };
}

/** A record's `spent` as an amount; it has no unpriced count, so a $0 total with tokens is
 * taken as "no price" and otherwise the events' unpriced share is kept. */
function recorded(spent: Spent, live: Amount): Amount {
  return { ...spent, unpriced: spent.cost > 0 ? Math.min(live.unpriced, spent.tokens) : spent.tokens };
}

/**
 * The one total and its parts, from the roles' and agents' usage seen in events and the
 * record's `spent` (`final`: read once the objective ended). The total is the engine's
 * final `spent`, or a `spent` above what the events add up to (the sidebar sees no agent
 * events); otherwise the events' sum, which grows live. `planning` is what the agents
 * leave of the total, so the parts always add up to the total shown.
 */
export function splitSpending(roles: Usage, agents: Usage, spent: Spent | null, final: boolean): Spending {
  const fromAgents = amountOf(agents);
  const live = plus(amountOf(roles), fromAgents);
  const record = spent && recorded(spent, live);
  if (record && (final || record.tokens > live.tokens)) {
    return { total: record, planning: minus(record, fromAgents), agents: fromAgents };
  }
  return { total: live, planning: amountOf(roles), agents: fromAgents };
}
