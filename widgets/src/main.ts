// The embeddable chat widget: today a launcher button; the conversation comes later.
// It defines one global, window.Relaydesk, and touches nothing else on the page. This file
// exports nothing, so the IIFE bundle adds no global of its own.
import { boot } from './boot'

// currentScript is only set while this file first runs, so it is read here and now.
boot(document.currentScript)
