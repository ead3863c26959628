/** The `metadata.usage` object of Dify answers: integer token counts, decimal strings for prices. */
import { countTokens } from '../util.js';

export interface Usage {
  prompt_tokens: number;
  prompt_unit_price: string;
  prompt_price_unit: string;
  prompt_price: string;
  completion_tokens: number;
  completion_unit_price: string;
  completion_price_unit: string;
  completion_price: string;
  total_tokens: number;
  total_price: string;
  currency: string;
  latency: number;
}

const PROMPT_UNIT_PRICE = 0.5; // per 1000 tokens, like a small hosted model
const COMPLETION_UNIT_PRICE = 1.5;
const PRICE_UNIT = 0.001;

const price = (value: number): string => value.toFixed(7);

export function buildUsage(prompt: string, completion: string, startedAtMs: number): Usage {
  const promptTokens = countTokens(prompt) + 20; // system prompt and template
  const completionTokens = completion === '' ? 0 : countTokens(completion);
  const promptPrice = promptTokens * PROMPT_UNIT_PRICE * PRICE_UNIT;
  const completionPrice = completionTokens * COMPLETION_UNIT_PRICE * PRICE_UNIT;
  return {
    prompt_tokens: promptTokens,
    prompt_unit_price: String(PROMPT_UNIT_PRICE),
    prompt_price_unit: String(PRICE_UNIT),
    prompt_price: price(promptPrice),
    completion_tokens: completionTokens,
    completion_unit_price: String(COMPLETION_UNIT_PRICE),
    completion_price_unit: String(PRICE_UNIT),
    completion_price: price(completionPrice),
    total_tokens: promptTokens + completionTokens,
    total_price: price(promptPrice + completionPrice),
    currency: 'USD',
    latency: (Date.now() - startedAtMs) / 1000,
  };
}
