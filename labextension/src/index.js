// dockerlearn-panels: after a kernel restart, bring back the exercise panels and progress bars.
//
// Each 检查 panel and progress bar is an ipywidgets widget: once the kernel restarts, the views
// in the page belong to a dead kernel and their buttons do nothing. When a notebook's kernel has
// restarted (from the menu, "restart and clear outputs", or automatically after a crash) and is
// idle again, this extension re-runs, in that notebook, exactly the cells that `dockerlearn build`
// tagged `dockerlearn-panel`, so fresh, live panels replace the dead ones. It never runs any other
// cell: not the lesson's first cell (start_lesson resets the sandbox), not the learner's answers.
import { INotebookTracker } from '@jupyterlab/notebook';
import { CodeCell } from '@jupyterlab/cells';

const PANEL_TAG = 'dockerlearn-panel';

// A tagged cell is re-run only if it still does nothing but show a panel or a progress bar: a
// learner may copy a tagged cell (its tags go with it) and type something else into it.
const PANEL_LINE = /^(from dockerlearn import [\w, ]+|(check|lesson_progress)\("[\w.-]+"\))\s*$/;

function isPanelSource(source) {
  const lines = source.split('\n').filter(line => line.trim());
  return lines.length > 0 && lines.every(line => PANEL_LINE.test(line.trim()));
}

function isPanelCell(cell) {
  const model = cell.model;
  if (model.type !== 'code') {
    return false;
  }
  const tags = model.getMetadata('tags') || [];
  return tags.includes(PANEL_TAG) && isPanelSource(model.sharedModel.getSource());
}

async function rerunPanels(panel) {
  const sessionContext = panel.sessionContext;
  const cells = panel.content.widgets.filter(cell => cell instanceof CodeCell && isPanelCell(cell));
  for (const cell of cells) {
    if (panel.isDisposed || !sessionContext.session?.kernel) {
      return;
    }
    // Already queued (Restart and Run All, or the learner pressed Shift+Enter): it runs anyway.
    if (cell.model.executionState === 'running') {
      continue;
    }
    try {
      await CodeCell.execute(cell, sessionContext);
    } catch (e) {
      console.warn('dockerlearn-panels: could not re-run a panel cell', e);
    }
  }
}

function watch(panel) {
  let restarted = false;
  panel.sessionContext.statusChanged.connect((sessionContext, status) => {
    if (status === 'restarting' || status === 'autorestarting') {
      restarted = true;
    } else if (status === 'idle' && restarted && !sessionContext.isRestarting) {
      restarted = false;
      // After the restart's own follow-up (clearing outputs, Run All) has started.
      setTimeout(() => void rerunPanels(panel), 0);
    }
  });
}

const plugin = {
  id: 'dockerlearn-panels:plugin',
  description: 'After a kernel restart, re-run only the cells that show a dockerlearn exercise panel or progress bar.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app, tracker) => {
    tracker.forEach(watch);
    tracker.widgetAdded.connect((_, panel) => watch(panel));
  }
};

export default plugin;
