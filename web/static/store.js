// The widget's state: one immutable object, and who hears of its changes.

// createStore keeps the widget's state as an immutable object and tells
// subscribers after each change.
export function createStore(initial) {
  let state = Object.freeze({ ...initial });
  const listeners = [];
  return {
    get: () => state,
    subscribe: (listener) => listeners.push(listener),
    update(patch) {
      const changed = Object.keys(patch).some((key) => !Object.is(state[key], patch[key]));
      if (!changed) return;
      state = Object.freeze({ ...state, ...patch });
      listeners.forEach((listener) => listener(state));
    },
  };
}
