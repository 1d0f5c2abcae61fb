// The handle types that cross the native boundary (used by the generated binding.gen.ts).

/**
 * A handle owning one reference to a libtorch tensor: a number (a slot of the addon's tensor table and
 * its generation; see native/core.h), branded so that no other number passes for one.
 */
export type NativeTensor = number & { readonly __nativeTensor: unique symbol };
/** Opaque handles of native/ops_dist_*.cc (a c10d process group, a gradient reducer). */
export type DistGroupHandle = { readonly __distGroup: unique symbol };
export type DistReducerHandle = { readonly __distReducer: unique symbol };

export type Scalar = number | boolean;
export type Opt<T> = T | null | undefined;
