/** The differentiable ops, as `glm.ops`. */
export { add, sub, mul, scale, sum, mean, sumTo } from './elementwise';
